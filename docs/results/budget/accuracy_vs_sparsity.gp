set terminal pngcairo size 640,420 font 'Sans,10' noenhanced
set output 'accuracy_vs_sparsity.png'
set grid lc rgb '#dddddd'
set key outside right top
set datafile missing 'NaN'
set key inside top right font ',8' samplen 2
set multiplot layout 1,1
set ylabel 'test accuracy (%)'
set xlabel 'sparsity of the prunable weights (%)'
set key bottom left
set offsets graph 0.03, graph 0.03, 0, 0
set title 'lenet5'
plot 'accuracy_vs_sparsity.dat' index 0 using 1:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#1f77b4' lw 1.5 title 'Incremental epochs=10', \
     'accuracy_vs_sparsity.dat' index 1 using 1:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#ff7f0e' lw 1.5 title 'Incremental epochs=30', \
     'accuracy_vs_sparsity.dat' index 2 using 1:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#2ca02c' lw 1.5 title 'Incremental epochs=60', \
     'accuracy_vs_sparsity.dat' index 3 using 1:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#d62728' lw 1.5 title 'DPF epochs=10', \
     'accuracy_vs_sparsity.dat' index 4 using 1:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#9467bd' lw 1.5 title 'DPF epochs=30', \
     'accuracy_vs_sparsity.dat' index 5 using 1:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#8c564b' lw 1.5 title 'DPF epochs=60'
unset multiplot
