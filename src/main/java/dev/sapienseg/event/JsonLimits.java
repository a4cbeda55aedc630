package dev.sapienseg.event;

import jakarta.inject.Singleton;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.quarkus.jackson.ObjectMapperCustomizer;

/**
 * Makes structured-mode events work up to the documented limits. Jackson refuses JSON strings longer than 20,000,000
 * characters by default, so a {@code data_base64} of a picture over ~15 MB failed as a malformed event long before
 * {@code sapiens.limits.max-image-bytes} (50 MB). Funqy parses events with a copy of the application's
 * {@link ObjectMapper}, so raising the limit here covers it: no string can be longer than the body that carries it,
 * which {@code quarkus.http.limits.max-body-size} bounds before anything is parsed.
 */
@Singleton
public class JsonLimits implements ObjectMapperCustomizer {

    private final long maxBodyBytes;

    public JsonLimits(BodyLimit bodyLimit) {
        this.maxBodyBytes = bodyLimit.bytes();
    }

    @Override
    public void customize(ObjectMapper mapper) {
        int maxString = (int) Math.min(Integer.MAX_VALUE, maxBodyBytes);
        StreamReadConstraints current = mapper.getFactory().streamReadConstraints();
        mapper.getFactory().setStreamReadConstraints(current.rebuild()
                .maxStringLength(Math.max(maxString, current.getMaxStringLength())).build());
    }
}
