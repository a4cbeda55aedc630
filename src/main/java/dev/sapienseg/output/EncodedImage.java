package dev.sapienseg.output;

/** Encoded picture bytes with their media type. */
public record EncodedImage(String contentType, byte[] data) {
}
