/* placeholder */
#include "simulator/sim.h"
int sim_forward_main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  return 2;
}
