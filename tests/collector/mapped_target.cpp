// mapped_target LIB SECONDS: loads LIB (mapped_lib, libcmwq inside; this program has no probe of its
// own), says "mapped" on stdout, and runs a pool in it for SECONDS. The test then swaps what LIB's
// path names while wqscope attaches.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: mapped_target LIB SECONDS\n");
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) {
    std::fprintf(stderr, "mapped_target: %s\n", dlerror());
    return 1;
  }
  auto run = reinterpret_cast<void (*)(double)>(dlsym(lib, "mapped_lib_run"));
  if (!run) return 1;
  std::printf("mapped\n");
  std::fflush(stdout);
  run(std::atof(argv[2]));
  return 0;
}
