// A program with a known instruction count, for bench/count-instructions.sh --self-check:
// it executes exactly 2 * ITERATIONS + 4 instructions (one mov, ITERATIONS times subs and
// b.ne, then mov, mov, svc for exit(0)). Built with -nostdlib -static -DITERATIONS=n.
        .text
        .global _start
_start:
        mov     x0, #ITERATIONS
1:      subs    x0, x0, #1
        b.ne    1b
        mov     x0, #0
        mov     x8, #93  // exit
        svc     #0
