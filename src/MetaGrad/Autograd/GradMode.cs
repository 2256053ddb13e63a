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

    [ThreadStatic] static bool t_inference;

    /// <summary>Whether this thread is in <see cref="InferenceMode"/>.</summary>
    public static bool IsInferenceModeEnabled => t_inference;

    /// <summary>
    /// torch.inference_mode: no graph is recorded (as <see cref="NoGrad"/>), and the tensors made
    /// meanwhile are inference tensors (<see cref="Tensor.IsInference"/>), which autograd refuses
    /// later, so a result computed for serving cannot leak into training unnoticed. (MetaGrad's
    /// NoGrad already records nothing and keeps no views' history, so this is no faster here.)
    /// </summary>
    public static InferenceModeScope InferenceMode(bool enabled = true)
    {
        var scope = new InferenceModeScope(!t_disabled, t_inference);
        t_inference = enabled;
        if (enabled) t_disabled = true;
        return scope;
    }

    /// <summary>Restores the grad and inference modes in force when it was created.</summary>
    public readonly struct InferenceModeScope : IDisposable
    {
        readonly bool _gradEnabled, _inference;
        internal InferenceModeScope(bool gradEnabled, bool inference) => (_gradEnabled, _inference) = (gradEnabled, inference);
        /// <inheritdoc/>
        public void Dispose() => (t_disabled, t_inference) = (!_gradEnabled, _inference);
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
