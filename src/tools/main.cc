#include <cstdio>
int main() { std::puts("deepspark"); return 0; }
