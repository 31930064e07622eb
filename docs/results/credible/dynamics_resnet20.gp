set terminal pngcairo size 920,720 font 'Sans,10' noenhanced
set output 'dynamics_resnet20.png'
set grid lc rgb '#dddddd'
set key outside right top
set datafile missing 'NaN'
set key inside top right font ',8' samplen 2
set multiplot layout 2,2
set xlabel 'epoch (of the training phase)'
set yrange [0:1]
set ylabel 'delta'
set title 'delta = |w - w~|^2 / |w|^2, 90% sparsity'
plot 'dynamics_resnet20.dat' index 0 using 1:2 with lines lc rgb '#ff7f0e' lw 1.5 title 'Incremental lr=0.05', \
     'dynamics_resnet20.dat' index 1 using 1:2 with lines lc rgb '#2ca02c' lw 1.5 title 'Incremental lr=0.1', \
     'dynamics_resnet20.dat' index 2 using 1:2 with lines lc rgb '#e377c2' lw 1.5 title 'DPF lr=0.05', \
     'dynamics_resnet20.dat' index 3 using 1:2 with lines lc rgb '#17becf' lw 1.5 title 'DPF lr=0.1'
set title 'delta = |w - w~|^2 / |w|^2, 99% sparsity'
plot 'dynamics_resnet20.dat' index 4 using 1:2 with lines lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'dynamics_resnet20.dat' index 5 using 1:2 with lines lc rgb '#8c564b' lw 1.5 title 'DPF'
set ylabel 'IoU'
set title 'IoU of consecutive masks, 90% sparsity'
plot 'dynamics_resnet20.dat' index 6 using 1:3 with lines lc rgb '#ff7f0e' lw 1.5 title 'Incremental lr=0.05', \
     'dynamics_resnet20.dat' index 7 using 1:3 with lines lc rgb '#2ca02c' lw 1.5 title 'Incremental lr=0.1', \
     'dynamics_resnet20.dat' index 8 using 1:3 with lines lc rgb '#e377c2' lw 1.5 title 'DPF lr=0.05', \
     'dynamics_resnet20.dat' index 9 using 1:3 with lines lc rgb '#17becf' lw 1.5 title 'DPF lr=0.1'
set title 'IoU of consecutive masks, 99% sparsity'
plot 'dynamics_resnet20.dat' index 10 using 1:3 with lines lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'dynamics_resnet20.dat' index 11 using 1:3 with lines lc rgb '#8c564b' lw 1.5 title 'DPF'
unset multiplot
