set terminal pngcairo size 1380,720 font 'Sans,10' noenhanced
set output 'dynamics_resnet20.png'
set grid lc rgb '#dddddd'
set key outside right top
set datafile missing 'NaN'
set key inside top right font ',8' samplen 2
set multiplot layout 2,3
set xlabel 'epoch (of the training phase)'
set yrange [0:1]
set ylabel 'delta'
set title 'delta = |w - w~|^2 / |w|^2, 30% sparsity of filters'
plot 'dynamics_resnet20.dat' index 0 using 1:2 with lines lc rgb '#1f77b4' lw 1.5 title 'SFP', \
     'dynamics_resnet20.dat' index 1 using 1:2 with lines lc rgb '#ff7f0e' lw 1.5 title 'DPF (filters)'
set title 'delta = |w - w~|^2 / |w|^2, 50% sparsity of filters'
plot 'dynamics_resnet20.dat' index 2 using 1:2 with lines lc rgb '#1f77b4' lw 1.5 title 'SFP', \
     'dynamics_resnet20.dat' index 3 using 1:2 with lines lc rgb '#ff7f0e' lw 1.5 title 'DPF (filters)'
set title 'delta = |w - w~|^2 / |w|^2, 70% sparsity of filters'
plot 'dynamics_resnet20.dat' index 4 using 1:2 with lines lc rgb '#1f77b4' lw 1.5 title 'SFP', \
     'dynamics_resnet20.dat' index 5 using 1:2 with lines lc rgb '#ff7f0e' lw 1.5 title 'DPF (filters)'
set ylabel 'IoU'
set title 'IoU of consecutive masks, 30% sparsity of filters'
plot 'dynamics_resnet20.dat' index 6 using 1:3 with lines lc rgb '#1f77b4' lw 1.5 title 'SFP', \
     'dynamics_resnet20.dat' index 7 using 1:3 with lines lc rgb '#ff7f0e' lw 1.5 title 'DPF (filters)'
set title 'IoU of consecutive masks, 50% sparsity of filters'
plot 'dynamics_resnet20.dat' index 8 using 1:3 with lines lc rgb '#1f77b4' lw 1.5 title 'SFP', \
     'dynamics_resnet20.dat' index 9 using 1:3 with lines lc rgb '#ff7f0e' lw 1.5 title 'DPF (filters)'
set title 'IoU of consecutive masks, 70% sparsity of filters'
plot 'dynamics_resnet20.dat' index 10 using 1:3 with lines lc rgb '#1f77b4' lw 1.5 title 'SFP', \
     'dynamics_resnet20.dat' index 11 using 1:3 with lines lc rgb '#ff7f0e' lw 1.5 title 'DPF (filters)'
unset multiplot
