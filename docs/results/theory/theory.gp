set terminal pngcairo size 1200,950 font 'Sans,10' noenhanced
set output 'theory.png'
set grid lc rgb '#dddddd'
set key outside right top
set multiplot title "DPF vs one-shot pruning on l2-regularised logistic regression (the convex case, Theorem 4.1)\nfashion-mnist, 10000 images, 7850 weights, lambda = mu = 0.05, gamma_t = 4/(mu (t + 2)), batch 32" font ',12'
set lmargin at screen 0.08
set rmargin at screen 0.78
set key outside right top Left reverse samplen 3
set logscale x
set format x '%g'
set xrange [1:20000]
set tmargin at screen 0.87
set bmargin at screen 0.44
set logscale y
set format y '%.0e'
set xlabel 'iteration t'
set ylabel 'f(.) - f*  (log scale)'
set title 'optimality gap: DPF f(w~_t) - f* (solid), one-shot f(prune_s(w_t)) - f* of the SGD iterate (dashed)'
plot 'theory.dat' using ($1 > 0 ? $1 : 1/0):($4 > 0 ? $4 : 1/0) with lines lw 1.6 lc rgb '#1f77b4' title 'DPF s = 0.5', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($9 > 0 ? $9 : 1/0) with lines dt 2 lw 1.6 lc rgb '#1f77b4' title 'one-shot s = 0.5', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($11 > 0 ? $11 : 1/0) with lines lw 1.6 lc rgb '#ff7f0e' title 'DPF s = 0.8', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($16 > 0 ? $16 : 1/0) with lines dt 2 lw 1.6 lc rgb '#ff7f0e' title 'one-shot s = 0.8', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($18 > 0 ? $18 : 1/0) with lines lw 1.6 lc rgb '#2ca02c' title 'DPF s = 0.9', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($23 > 0 ? $23 : 1/0) with lines dt 2 lw 1.6 lc rgb '#2ca02c' title 'one-shot s = 0.9', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($25 > 0 ? $25 : 1/0) with lines lw 1.6 lc rgb '#d62728' title 'DPF s = 0.95', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($30 > 0 ? $30 : 1/0) with lines dt 2 lw 1.6 lc rgb '#d62728' title 'one-shot s = 0.95', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($2 > 0 ? $2 : 1/0) with lines lw 2 lc rgb '#000000' title 'dense SGD f(w_t) - f*'
set tmargin at screen 0.33
set bmargin at screen 0.06
unset key
unset logscale y
set format y '%g'
set yrange [0:1]
set ylabel 'delta_t'
set xlabel 'iteration t' offset 0, 0.5
set title 'delta_t = ||w_t - w~_t||^2 / ||w_t||^2: DPF (solid), pruning the SGD iterate (dashed)'
plot 'theory.dat' using ($1 > 0 ? $1 : 1/0):($6 > 0 ? $6 : 1/0) with lines lw 1.6 lc rgb '#1f77b4' title 'DPF s = 0.5', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($10 > 0 ? $10 : 1/0) with lines dt 2 lw 1.6 lc rgb '#1f77b4' title 'one-shot s = 0.5', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($13 > 0 ? $13 : 1/0) with lines lw 1.6 lc rgb '#ff7f0e' title 'DPF s = 0.8', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($17 > 0 ? $17 : 1/0) with lines dt 2 lw 1.6 lc rgb '#ff7f0e' title 'one-shot s = 0.8', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($20 > 0 ? $20 : 1/0) with lines lw 1.6 lc rgb '#2ca02c' title 'DPF s = 0.9', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($24 > 0 ? $24 : 1/0) with lines dt 2 lw 1.6 lc rgb '#2ca02c' title 'one-shot s = 0.9', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($27 > 0 ? $27 : 1/0) with lines lw 1.6 lc rgb '#d62728' title 'DPF s = 0.95', \
     'theory.dat' using ($1 > 0 ? $1 : 1/0):($31 > 0 ? $31 : 1/0) with lines dt 2 lw 1.6 lc rgb '#d62728' title 'one-shot s = 0.95'
unset multiplot
