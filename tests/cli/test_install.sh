#!/usr/bin/env bash
# test_install.sh — `cmake --install` puts the library, headers and a relocatable dpf.pc in a
# prefix, and a program built with `pkg-config --cflags --libs dpf` links and runs; so does
# examples/classify.c, whose class for a test image equals `dpf predict`'s.
# usage: test_install.sh PATH/TO/build/dpf
set -euo pipefail
build=$(dirname "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
for f in include/dpf/dpf.h include/dpf/net.h lib/libdpf.a lib/libdpf.so lib/pkgconfig/dpf.pc bin/dpf; do
  [[ -e "$tmp/prefix/$f" ]] || { echo "FAIL: $f not installed"; exit 1; }
done
cat >"$tmp/use.c" <<'C'
#include <dpf/dpf.h>
#include <stdio.h>
int main(void)
{
    dpf_net *net;
    if (dpf_net_create(&net, "resnet20", 3, 32, 32, 10, 1) != DPF_OK)
        return 1;
    printf("%zu\n", dpf_net_size(net));
    dpf_net_free(net);
    return 0;
}
C
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
cc "$tmp/use.c" -o "$tmp/use" $(pkg-config --cflags --libs dpf) -Wl,-rpath,"$tmp/prefix/lib"
[[ $("$tmp/use") == 272474 ]] || { echo "FAIL: installed library gives a wrong net"; exit 1; }

# examples/classify.c against the installed copy: the top class of a test image, as dpf predict
src=$(cd "$(dirname "$0")/../.." && pwd)
cc "$src/examples/classify.c" -o "$tmp/classify" -std=c11 -Wall -Wextra -Werror \
  $(pkg-config --cflags --libs dpf) -lm -Wl,-rpath,"$tmp/prefix/lib"
images=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
"$tmp/prefix/bin/dpf" train --model mlp --epochs 1 --limit-train 512 --batch 64 --out "$tmp/run" \
  --progress none >/dev/null
for i in 0 7; do
  got=$("$tmp/classify" "$tmp/run/model.safetensors" "$images" $i)
  want=$("$tmp/prefix/bin/dpf" predict "$tmp/run" "$images" --index $i --top 1)
  [[ -n "$got" && "$got" == "$want" ]] || { echo "FAIL: classify says '$got', dpf predict '$want'"; exit 1; }
done
"$tmp/classify" "$tmp/run/model.safetensors" "$tmp/nope" 0 2>"$tmp/err" && { echo "FAIL: classify accepted a missing file"; exit 1; }
[[ $(wc -l <"$tmp/err") -eq 1 ]] && grep -q nope "$tmp/err" || { echo "FAIL: classify's error: $(cat "$tmp/err")"; exit 1; }
echo "2 passed, 0 failed"
