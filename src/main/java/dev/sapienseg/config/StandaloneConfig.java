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

    /**
     * The S3 client of a command run without the server, from the function's own settings ({@code quarkus.s3.*}), so
     * that a command can share the function's configuration and Secret: region, endpoint override (path-style), and
     * static credentials when both keys are set, else the AWS environment.
     */
    public static software.amazon.awssdk.services.s3.S3Client s3Client(SmallRyeConfig settings) {
        var builder = software.amazon.awssdk.services.s3.S3Client.builder()
                .region(software.amazon.awssdk.regions.Region.of(
                        settings.getOptionalValue("quarkus.s3.aws.region", String.class).orElse("us-east-1")))
                .httpClientBuilder(software.amazon.awssdk.http.apache.ApacheHttpClient.builder());
        settings.getOptionalValue("quarkus.s3.endpoint-override", java.net.URI.class)
                .ifPresent(endpoint -> builder.endpointOverride(endpoint).forcePathStyle(true));
        var key = settings.getOptionalValue("quarkus.s3.aws.credentials.static-provider.access-key-id", String.class);
        var secret = settings.getOptionalValue("quarkus.s3.aws.credentials.static-provider.secret-access-key", String.class);
        if (key.isPresent() && secret.isPresent()) {
            builder.credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                    software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(key.get(), secret.get())));
        }
        return builder.build();
    }
}
