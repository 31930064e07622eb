set terminal pngcairo size 920,720 font 'Sans,10' noenhanced
set output 'curves_lenet5.png'
set grid lc rgb '#dddddd'
set key outside right top
set datafile missing 'NaN'
set key inside top right font ',8' samplen 2
set multiplot layout 2,2
set xlabel 'epoch'
set ylabel 'training loss'
set title 'training loss, 95% sparsity'
plot 'curves_lenet5.dat' index 0 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'curves_lenet5.dat' index 1 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#8c564b' lw 1.5 title 'DPF'
set title 'training loss, 99% sparsity'
plot 'curves_lenet5.dat' index 2 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'curves_lenet5.dat' index 3 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#8c564b' lw 1.5 title 'DPF'
set ylabel 'test accuracy (%)'
set title 'test accuracy, 95% sparsity'
plot 'curves_lenet5.dat' index 4 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'curves_lenet5.dat' index 5 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#8c564b' lw 1.5 title 'DPF'
set title 'test accuracy, 99% sparsity'
plot 'curves_lenet5.dat' index 6 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'curves_lenet5.dat' index 7 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#8c564b' lw 1.5 title 'DPF'
unset multiplot
