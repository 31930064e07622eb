set terminal pngcairo size 920,720 font 'Sans,10' noenhanced
set output 'dynamics_lenet5.png'
set grid lc rgb '#dddddd'
set key outside right top
set datafile missing 'NaN'
set key inside top right font ',8' samplen 2
set multiplot layout 2,2
set xlabel 'epoch (of the training phase)'
set yrange [0:1]
set ylabel 'delta'
set title 'delta = |w - w~|^2 / |w|^2, 95% sparsity'
plot 'dynamics_lenet5.dat' index 0 using 1:2 with lines lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'dynamics_lenet5.dat' index 1 using 1:2 with lines lc rgb '#8c564b' lw 1.5 title 'DPF'
set title 'delta = |w - w~|^2 / |w|^2, 99% sparsity'
plot 'dynamics_lenet5.dat' index 2 using 1:2 with lines lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'dynamics_lenet5.dat' index 3 using 1:2 with lines lc rgb '#8c564b' lw 1.5 title 'DPF'
set ylabel 'IoU'
set title 'IoU of consecutive masks, 95% sparsity'
plot 'dynamics_lenet5.dat' index 4 using 1:3 with lines lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'dynamics_lenet5.dat' index 5 using 1:3 with lines lc rgb '#8c564b' lw 1.5 title 'DPF'
set title 'IoU of consecutive masks, 99% sparsity'
plot 'dynamics_lenet5.dat' index 6 using 1:3 with lines lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'dynamics_lenet5.dat' index 7 using 1:3 with lines lc rgb '#8c564b' lw 1.5 title 'DPF'
unset multiplot
