set terminal pngcairo size 640,420 font 'Sans,10' noenhanced
set output 'accuracy_vs_params.png'
set grid lc rgb '#dddddd'
set key outside right top
set datafile missing 'NaN'
set key inside top right font ',8' samplen 2
set multiplot layout 1,1
set ylabel 'test accuracy (%)'
set xlabel 'nonzero parameters'
set key bottom left
set offsets graph 0.03, graph 0.03, 0, 0
set logscale x
set format x '%.0s%c'
set title 'lenet5'
plot 'accuracy_vs_params.dat' index 0 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#1f77b4' lw 1.5 title 'DPF period=1', \
     'accuracy_vs_params.dat' index 1 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#ff7f0e' lw 1.5 title 'DPF period=4', \
     'accuracy_vs_params.dat' index 2 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#2ca02c' lw 1.5 title 'DPF period=16', \
     'accuracy_vs_params.dat' index 3 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#d62728' lw 1.5 title 'DPF period=64', \
     'accuracy_vs_params.dat' index 4 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#9467bd' lw 1.5 title 'DPF period=256'
unset multiplot
