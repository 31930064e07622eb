set terminal pngcairo size 920,360 font 'Sans,10' noenhanced
set output 'layer_sparsity_resnet20.png'
set grid lc rgb '#dddddd'
set key outside right top
set datafile missing 'NaN'
set key inside top right font ',8' samplen 2
set multiplot layout 1,2
set xlabel ''
set xtics rotate by -60 font ',7'
set yrange [0:100]
set ylabel 'sparsity of the layer (%)'
set title 'per-layer sparsity, 90% sparsity'
plot 'layer_sparsity_resnet20.dat' index 0 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#ff7f0e' lw 1.5 title 'Incremental lr=0.05', \
     'layer_sparsity_resnet20.dat' index 1 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#2ca02c' lw 1.5 title 'Incremental lr=0.1', \
     'layer_sparsity_resnet20.dat' index 2 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#e377c2' lw 1.5 title 'DPF lr=0.05', \
     'layer_sparsity_resnet20.dat' index 3 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#17becf' lw 1.5 title 'DPF lr=0.1', \
     'layer_sparsity_resnet20.dat' index 4 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#7f7f7f' lw 1.5 title 'Fixed mask (new init)', \
     'layer_sparsity_resnet20.dat' index 5 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#393b79' lw 1.5 title 'Fixed mask (same init)'
set title 'per-layer sparsity, 99% sparsity'
plot 'layer_sparsity_resnet20.dat' index 6 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'layer_sparsity_resnet20.dat' index 7 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#9467bd' lw 1.5 title 'SNIP', \
     'layer_sparsity_resnet20.dat' index 8 using 1:2:xtic(3) with linespoints pt 7 ps 0.6 lc rgb '#8c564b' lw 1.5 title 'DPF'
unset multiplot
