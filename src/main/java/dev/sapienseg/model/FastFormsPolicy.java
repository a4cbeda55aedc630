package dev.sapienseg.model;

/** When a downloaded model is served in its faster form ({@code sapiens.model.fast-forms}). */
public enum FastFormsPolicy {
    /** On the CPU, where ONNX Runtime's ConvTranspose is slow and needs a 2.4 GB buffer; GPUs run it as published. */
    AUTO,
    /** On every execution provider. */
    ALWAYS,
    /** Never: the model is served as published. */
    NEVER;

    public boolean wanted(ExecutionProvider provider) {
        return this == ALWAYS || this == AUTO && !provider.gpu();
    }
}
