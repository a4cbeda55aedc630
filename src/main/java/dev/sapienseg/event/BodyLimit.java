package dev.sapienseg.event;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.quarkus.runtime.configuration.MemorySize;

/**
 * The HTTP body limit, {@code quarkus.http.limits.max-body-size}, read once for every surface that bounds what it
 * reads by it: the size guard, the JSON parser's string limit, the Open Inference Protocol's body handler.
 */
@Singleton
public class BodyLimit {

    private final long bytes;

    public BodyLimit(@ConfigProperty(name = "quarkus.http.limits.max-body-size") MemorySize maxBodySize) {
        this.bytes = maxBodySize.asLongValue();
    }

    /** The largest request body accepted, in bytes. */
    public long bytes() {
        return bytes;
    }
}
