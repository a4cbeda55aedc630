package dev.sapienseg.config;

import org.eclipse.microprofile.config.spi.Converter;

/**
 * A blank value means "not set": {@code SAPIENS_MODEL_URI=" "} in a manifest, or a command that clears a key, must not
 * become a model named by spaces. Returning null is how a MicroProfile converter says "no value", so an
 * {@code Optional} setting with this converter is empty, and every reader can take presence at its word.
 */
public final class BlankIsUnset implements Converter<String> {

    @Override
    public String convert(String value) {
        return value == null || value.isBlank() ? null : value;
    }
}
