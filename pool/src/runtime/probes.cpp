// The USDT semaphores of cmwq:batch and cmwq:wait (the hand-over's block), in the section where
// tracers look for them.
#include <cmwq/probes.h>

#if CMWQ_PROBES
extern "C" {
__extension__ volatile unsigned short cmwq_batch_semaphore __attribute__((unused))
__attribute__((section(".probes"))) = 0;
__extension__ struct cmwq_handover cmwq_wait_semaphore __attribute__((section(".probes"))) = {};
}
#endif
