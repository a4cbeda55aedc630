package dev.sapienseg.image;

/** Bounds on what a caller may send: encoded bytes, and pixels as declared by the header (checked before decoding). */
public record ImageLimits(long maxBytes, long maxPixels) {
}
