package dev.sapienseg.deploy;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The JNI registrations the native image gets for ONNX Runtime name constructors that exist in the ONNX Runtime on the
 * classpath: an upgrade that changes one breaks this test instead of a native executable at run time.
 */
class NativeImageConfigTest {

    @Test
    void everyRegisteredConstructorExists() throws Exception {
        JsonNode entries;
        try (InputStream in = getClass().getResourceAsStream(
                "/META-INF/native-image/dev.sapienseg/sapiens-seg-function/jni-config.json")) {
            entries = new ObjectMapper().readTree(in);
        }
        assertFalse(entries.isEmpty());
        for (JsonNode entry : entries) {
            Class<?> type = Class.forName(entry.get("name").asText());
            for (JsonNode method : entry.path("methods")) {
                List<Class<?>> parameters = new ArrayList<>();
                for (JsonNode p : method.get("parameterTypes")) {
                    parameters.add(typeOf(p.asText()));
                }
                assertDoesNotThrow(() -> type.getDeclaredConstructor(parameters.toArray(Class<?>[]::new)),
                        type.getName() + parameters);
            }
        }
    }

    private static Class<?> typeOf(String name) throws ClassNotFoundException {
        return switch (name) {
            case "int" -> int.class;
            case "long" -> long.class;
            case "long[]" -> long[].class;
            default -> name.endsWith("[]") ? Class.forName("[L" + name.substring(0, name.length() - 2) + ";")
                    : Class.forName(name);
        };
    }
}
