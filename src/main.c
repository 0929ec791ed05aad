/* main.c - placeholder until the CLI lands. */
#include <stdio.h>
int main(void)
{
    fputs("offsite: not built yet\n", stderr);
    return 1;
}
