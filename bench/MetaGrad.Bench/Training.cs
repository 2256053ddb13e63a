namespace MetaGrad.Bench;

/// <summary>Training-step workloads (they join when the layers and optimizers they need exist).</summary>
static class Training
{
    public static IEnumerable<Workload> Workloads(bool quick) => [];
}
