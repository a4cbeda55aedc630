package dev.sapienseg.config;

import java.io.IOException;
import java.net.URL;
import java.util.Map;

import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.common.MapBackedConfigSource;

/**
 * {@link SapiensConfig} for code that runs without the Quarkus application (the batch command): the same
 * application.properties, environment variables and system properties, in Quarkus' order, plus the command's own
 * options on top. So every default is stated once, where the server reads it too.
 */
public final class StandaloneConfig {

    private StandaloneConfig() {
    }

    public static SmallRyeConfig load(Map<String, String> overrides) {
        return builder(overrides).build();
    }

    /** The builder {@link #load} builds: tests add sources to it (an environment of their own). */
    public static SmallRyeConfigBuilder builder(Map<String, String> overrides) {
        try {
            SmallRyeConfigBuilder builder = new SmallRyeConfigBuilder()
                    .addDefaultInterceptors()
                    .addDefaultSources() // system properties (400), environment (300)
                    .withConverter(java.time.Duration.class, 100, new DurationConverter())
                    .withConverter(MemorySize.class, 100, new MemorySizeConverter())
                    .withSources(new MapBackedConfigSource("command line", overrides, 500) {
                    })
                    .withMapping(SapiensConfig.class);
            ClassLoader loader = StandaloneConfig.class.getClassLoader();
            for (URL url : java.util.Collections.list(loader.getResources("application.properties"))) {
                builder.withSources(new PropertiesConfigSource(url, 250));
            }
            return builder;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read application.properties", e);
        }
    }

    public static SapiensConfig sapiens(SmallRyeConfig config) {
        return config.getConfigMapping(SapiensConfig.class);
    }
}
