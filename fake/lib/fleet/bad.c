#include "../render/x.h"
/* \033 in a comment */
int f(void) { printf("\033[K"); exit(1); }
