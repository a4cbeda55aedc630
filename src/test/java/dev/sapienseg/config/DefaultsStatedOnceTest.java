package dev.sapienseg.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import io.smallrye.config.WithDefault;

/** Every default is written once: in application.properties or as a {@code @WithDefault}, never both. */
class DefaultsStatedOnceTest {

    static void collect(Class<?> type, String prefix, Set<String> annotated) {
        for (Method m : type.getDeclaredMethods()) {
            String key = prefix + "." + m.getName().replaceAll("([A-Z])", "-$1").toLowerCase(java.util.Locale.ROOT);
            if (m.isAnnotationPresent(WithDefault.class)) {
                annotated.add(key);
            } else if (m.getReturnType().isInterface() && m.getReturnType().getEnclosingClass() == SapiensConfig.class) {
                collect(m.getReturnType(), key, annotated);
            }
        }
    }

    @Test
    void noKeyHasTwoDefaults() throws IOException {
        Set<String> annotated = new TreeSet<>();
        collect(SapiensConfig.class, "sapiens", annotated);
        assertTrue(annotated.contains("sapiens.model.download.attempts"), annotated.toString());
        Properties properties = new Properties();
        try (Reader in = Files.newBufferedReader(Path.of("src/main/resources/application.properties"))) {
            properties.load(in);
        }
        Set<String> both = new TreeSet<>(annotated);
        both.retainAll(properties.stringPropertyNames());
        assertEquals(Set.of(), both, "defaults written twice (keep one: application.properties or @WithDefault)");
    }
}
