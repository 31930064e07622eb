set terminal pngcairo size 1380,360 font 'Sans,10' noenhanced
set output 'mask_convergence_resnet20.png'
set grid lc rgb '#dddddd'
set key outside right top
set datafile missing 'NaN'
set key inside top right font ',8' samplen 2
set multiplot layout 1,3
set xlabel 'epoch'
set yrange [0:*]
set ylabel '% of the mask changing after the epoch'
set title 'mask elements still changing, 30% sparsity of filters'
plot 'mask_convergence_resnet20.dat' index 0 using 1:2 with linespoints pt 7 ps 0.6 lc rgb '#1f77b4' lw 1.5 title 'SFP', \
     'mask_convergence_resnet20.dat' index 1 using 1:2 with linespoints pt 7 ps 0.6 lc rgb '#ff7f0e' lw 1.5 title 'DPF (filters)'
set title 'mask elements still changing, 50% sparsity of filters'
plot 'mask_convergence_resnet20.dat' index 2 using 1:2 with linespoints pt 7 ps 0.6 lc rgb '#1f77b4' lw 1.5 title 'SFP', \
     'mask_convergence_resnet20.dat' index 3 using 1:2 with linespoints pt 7 ps 0.6 lc rgb '#ff7f0e' lw 1.5 title 'DPF (filters)'
set title 'mask elements still changing, 70% sparsity of filters'
plot 'mask_convergence_resnet20.dat' index 4 using 1:2 with linespoints pt 7 ps 0.6 lc rgb '#1f77b4' lw 1.5 title 'SFP', \
     'mask_convergence_resnet20.dat' index 5 using 1:2 with linespoints pt 7 ps 0.6 lc rgb '#ff7f0e' lw 1.5 title 'DPF (filters)'
unset multiplot
