// The USDT semaphore of cmwq:batch, in the section where tracers look for it.
#include <cmwq/probes.h>

#if CMWQ_PROBES
extern "C" {
__extension__ volatile unsigned short cmwq_batch_semaphore __attribute__((unused))
__attribute__((section(".probes"))) = 0;
}
#endif
