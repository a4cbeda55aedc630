package dev.sapienseg.pipeline;

/** Wall-clock milliseconds per stage of one request. {@code queue} is the wait for an inference slot. */
public record StageTimings(double decode, double preprocess, double queue, double inference, double postprocess,
        double encode, double total) {
}
