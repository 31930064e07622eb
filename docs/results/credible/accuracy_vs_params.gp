set terminal pngcairo size 640,840 font 'Sans,10' noenhanced
set output 'accuracy_vs_params.png'
set grid lc rgb '#dddddd'
set key outside right top
set datafile missing 'NaN'
set key inside top right font ',8' samplen 2
set multiplot layout 2,1
set ylabel 'test accuracy (%)'
set xlabel 'nonzero parameters'
set key bottom left
set offsets graph 0.03, graph 0.03, 0, 0
set logscale x
set format x '%.0s%c'
set title 'resnet20'
plot 'accuracy_vs_params.dat' index 0 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#000000' lw 1.5 title 'Dense', \
     'accuracy_vs_params.dat' index 1 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'accuracy_vs_params.dat' index 2 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#ff7f0e' lw 1.5 title 'Incremental lr=0.05', \
     'accuracy_vs_params.dat' index 3 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#2ca02c' lw 1.5 title 'Incremental lr=0.1', \
     'accuracy_vs_params.dat' index 4 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#9467bd' lw 1.5 title 'SNIP', \
     'accuracy_vs_params.dat' index 5 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#8c564b' lw 1.5 title 'DPF', \
     'accuracy_vs_params.dat' index 6 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#e377c2' lw 1.5 title 'DPF lr=0.05', \
     'accuracy_vs_params.dat' index 7 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#17becf' lw 1.5 title 'DPF lr=0.1', \
     'accuracy_vs_params.dat' index 8 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#7f7f7f' lw 1.5 title 'Fixed mask (new init)', \
     'accuracy_vs_params.dat' index 9 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#393b79' lw 1.5 title 'Fixed mask (same init)'
set title 'lenet5'
plot 'accuracy_vs_params.dat' index 10 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#1f77b4' lw 1.5 title 'Incremental', \
     'accuracy_vs_params.dat' index 11 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#d62728' lw 1.5 title 'Incremental+FT', \
     'accuracy_vs_params.dat' index 12 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#8c564b' lw 1.5 title 'DPF', \
     'accuracy_vs_params.dat' index 13 using 4:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#bcbd22' lw 1.5 title 'DPF+FT'
unset multiplot
