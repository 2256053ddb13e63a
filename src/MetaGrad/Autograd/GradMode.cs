namespace MetaGrad;

/// <summary>
/// Autograd's global switches and its functional form. Grad mode is per thread, like PyTorch's:
/// a <c>using (Autograd.NoGrad())</c> block on one thread never affects another.
/// </summary>
public static partial class Autograd
{
    [ThreadStatic] static bool t_disabled;

    /// <summary>Whether operations on this thread record a graph.</summary>
    public static bool IsGradEnabled => !t_disabled;

    /// <summary>Stops recording until the returned scope is disposed (torch.no_grad).</summary>
    public static GradModeScope NoGrad() => SetGradEnabled(false);

    /// <summary>Records again inside a no-grad region (torch.enable_grad).</summary>
    public static GradModeScope EnableGrad() => SetGradEnabled(true);

    /// <summary>Sets grad mode until the returned scope is disposed, which restores the previous mode.</summary>
    public static GradModeScope SetGradEnabled(bool enabled)
    {
        var scope = new GradModeScope(!t_disabled);
        t_disabled = !enabled;
        return scope;
    }

    /// <summary>Restores the grad mode that was in force when it was created.</summary>
    public readonly struct GradModeScope : IDisposable
    {
        readonly bool _previous;
        internal GradModeScope(bool previous) => _previous = previous;
        /// <inheritdoc/>
        public void Dispose() => t_disabled = !_previous;
    }
}
