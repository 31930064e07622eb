set terminal pngcairo size 920,360 font 'Sans,10' noenhanced
set output 'layer_sparsity_lenet5.png'
set grid lc rgb '#dddddd'
set key outside right top
set datafile missing 'NaN'
set key inside top right font ',8' samplen 2
set multiplot layout 1,2
set xlabel ''
set xtics rotate by -60 font ',7'
set yrange [0:100]
set ylabel 'sparsity of the layer (%)'
set title 'per-layer sparsity, 95% sparsity'
plot 'layer_sparsity_lenet5.dat' index 0 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'layer_sparsity_lenet5.dat' index 1 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#8c564b' lw 1.5 title 'DPF'
set title 'per-layer sparsity, 99% sparsity'
plot 'layer_sparsity_lenet5.dat' index 2 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'layer_sparsity_lenet5.dat' index 3 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#8c564b' lw 1.5 title 'DPF'
unset multiplot
