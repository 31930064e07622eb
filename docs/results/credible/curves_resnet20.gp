set terminal pngcairo size 920,720 font 'Sans,10' noenhanced
set output 'curves_resnet20.png'
set grid lc rgb '#dddddd'
set key outside right top
set datafile missing 'NaN'
set key inside top right font ',8' samplen 2
set multiplot layout 2,2
set xlabel 'epoch'
set ylabel 'training loss'
set title 'training loss, 90% sparsity'
plot 'curves_resnet20.dat' index 0 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#000000' lw 1.5 title 'Dense', \
     'curves_resnet20.dat' index 1 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#ff7f0e' lw 1.5 title 'Incremental lr=0.05', \
     'curves_resnet20.dat' index 2 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#2ca02c' lw 1.5 title 'Incremental lr=0.1', \
     'curves_resnet20.dat' index 3 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#e377c2' lw 1.5 title 'DPF lr=0.05', \
     'curves_resnet20.dat' index 4 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#17becf' lw 1.5 title 'DPF lr=0.1', \
     'curves_resnet20.dat' index 5 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#7f7f7f' lw 1.5 title 'Fixed mask (new init)', \
     'curves_resnet20.dat' index 6 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#393b79' lw 1.5 title 'Fixed mask (same init)'
set title 'training loss, 99% sparsity'
plot 'curves_resnet20.dat' index 7 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#000000' lw 1.5 title 'Dense', \
     'curves_resnet20.dat' index 8 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'curves_resnet20.dat' index 9 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#9467bd' lw 1.5 title 'SNIP', \
     'curves_resnet20.dat' index 10 using 1:2 with linespoints pt 7 ps 0.5 lc rgb '#8c564b' lw 1.5 title 'DPF'
set ylabel 'test accuracy (%)'
set title 'test accuracy, 90% sparsity'
plot 'curves_resnet20.dat' index 11 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#000000' lw 1.5 title 'Dense', \
     'curves_resnet20.dat' index 12 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#ff7f0e' lw 1.5 title 'Incremental lr=0.05', \
     'curves_resnet20.dat' index 13 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#2ca02c' lw 1.5 title 'Incremental lr=0.1', \
     'curves_resnet20.dat' index 14 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#e377c2' lw 1.5 title 'DPF lr=0.05', \
     'curves_resnet20.dat' index 15 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#17becf' lw 1.5 title 'DPF lr=0.1', \
     'curves_resnet20.dat' index 16 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#7f7f7f' lw 1.5 title 'Fixed mask (new init)', \
     'curves_resnet20.dat' index 17 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#393b79' lw 1.5 title 'Fixed mask (same init)'
set title 'test accuracy, 99% sparsity'
plot 'curves_resnet20.dat' index 18 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#000000' lw 1.5 title 'Dense', \
     'curves_resnet20.dat' index 19 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'curves_resnet20.dat' index 20 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#9467bd' lw 1.5 title 'SNIP', \
     'curves_resnet20.dat' index 21 using 1:3 with linespoints pt 7 ps 0.5 lc rgb '#8c564b' lw 1.5 title 'DPF'
unset multiplot
