#!/usr/bin/env bash
# test_install.sh — `cmake --install` puts the library, headers and a relocatable dpf.pc in a
# prefix, and a program built with `pkg-config --cflags --libs dpf` links and runs.
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
echo "1 passed, 0 failed"
