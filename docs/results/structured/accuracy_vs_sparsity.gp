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
set title 'resnet20'
plot 82.44 with lines dt 2 lc rgb '#000000' lw 1.5 title 'Dense', \
     'accuracy_vs_sparsity.dat' index 1 using 1:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#1f77b4' lw 1.5 title 'SFP', \
     'accuracy_vs_sparsity.dat' index 2 using 1:2:3 with yerrorlines pt 7 ps 0.8 lc rgb '#ff7f0e' lw 1.5 title 'DPF (filters)'
unset multiplot
