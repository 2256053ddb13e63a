using MetaGrad.Distributed;
using MetaGrad.Distributed.Worker;

// One rank of `mpiexec -n 2`: worker <scenario> <output file> (see Scenarios).
string scenario = args[0], output = args[1];
return Mpi.Run(world => Scenarios.Train(scenario, output, world));
