/* main.c — the dpf command-line tool: dispatches to the subcommands. (stub, being written) */
#include <stdio.h>
int main(void) { puts("dpf"); return 0; }
