package dev.sapienseg.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.config.StandaloneConfig;
import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.common.expression.Expression;
import io.smallrye.config.ConfigMappings;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.common.utils.StringUtil;

/**
 * The application's configuration as a pod would see it, read by SmallRye Config as the function reads it
 * ({@link StandaloneConfig}: the {@link SapiensConfig} mapping and its defaults, Quarkus' Duration and MemorySize
 * converters, {@code ${…}} expansion), from application.properties and the environment a manifest sets: not this
 * JVM's environment or system properties. Hand-written here only what SmallRye cannot tell: which variables count as
 * settings besides those SmallRye reads for a key (a map's keys, keys application.properties documents in comments,
 * variables its expressions read, libraries' variables).
 */
public final class AppConfig {

    /** Variables read by libraries, not by Quarkus configuration. */
    static final Set<String> LIBRARY_VARIABLES = Set.of("OPENBLAS_NUM_THREADS",
            // deploy/run-java.sh: the Java heap's share of the container's memory, and further JVM options.
            "JAVA_MAX_RAM_PERCENTAGE", "JAVA_OPTS",
            // Read by the JVM itself (e.g. -XX:ActiveProcessorCount where a pod has no CPU limit).
            "JAVA_TOOL_OPTIONS");

    private static final Pattern COMMENTED_KEY = Pattern.compile("^#\\s*([a-z][A-Za-z0-9_.\"-]+)\\s*=.*");

    /**
     * What application.properties and {@link SapiensConfig} tell besides values: our keys (map-valued ones end in
     * {@code .*}), keys the file documents in comments ({@code #quarkus.s3.endpoint-override=…}) and variables its
     * values read by name ({@code ${HF_TOKEN:}}).
     */
    private record Known(PropertiesConfigSource file, Set<String> keys, Set<String> documentedKeys,
            Set<String> referencedVariables) {
    }

    private final Known known;
    private final Map<String, String> environment;
    private final SmallRyeConfig config;

    private AppConfig(Known known, Map<String, String> environment) {
        this.known = known;
        this.environment = environment;
        // StandaloneConfig also reads the packaged application.properties (250); the file given (260) overrides it key
        // by key, so a test can change a copy of it.
        this.config = StandaloneConfig.builder(Map.of())
                .setAddDefaultSources(false)
                .withDefaultValue("user.home", System.getProperty("user.home")) // set by the pod's JVM as by this one
                .withSources(known.file(), new EnvConfigSource(environment, EnvConfigSource.ORDINAL))
                .build();
    }

    /** The packaged application.properties, as a pod reads it. */
    public static AppConfig load() {
        return load(KnativeManifests.APPLICATION_PROPERTIES);
    }

    static AppConfig load(Path file) {
        try {
            PropertiesConfigSource properties = new PropertiesConfigSource(file.toUri().toURL(), 260);
            Set<String> keys = new TreeSet<>(properties.getPropertyNames());
            ConfigMappings.getProperties(ConfigMappings.ConfigClass.configClass(SapiensConfig.class)).keySet().stream()
                    .filter(key -> !key.endsWith("[*]")).forEach(keys::add);
            Set<String> documented = new TreeSet<>();
            for (String line : Files.readAllLines(file)) {
                Matcher m = COMMENTED_KEY.matcher(line);
                if (m.matches()) {
                    documented.add(m.group(1));
                }
            }
            Set<String> referenced = new TreeSet<>();
            for (String value : properties.getProperties().values()) {
                // The parser SmallRye expands values with (ExpressionConfigSourceInterceptor), with its flags.
                Expression.compile(value, Expression.Flag.LENIENT_SYNTAX, Expression.Flag.NO_TRIM,
                        Expression.Flag.NO_SMART_BRACES, Expression.Flag.DOUBLE_COLON).getReferencedStrings().stream()
                        .filter(name -> name.equals(name.toUpperCase(Locale.ROOT))).forEach(referenced::add);
            }
            return new AppConfig(new Known(properties, keys, documented, referenced), Map.of());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The same configuration with a pod's environment on top. */
    AppConfig withEnvironment(Map<String, String> env) {
        return new AppConfig(known, Map.copyOf(env));
    }

    /**
     * The key an environment variable sets, if it names one of ours: matched by SmallRye's EnvConfigSource. A map's
     * keys ({@code sapiens.execution.cuda-options.*}) are not: an environment variable cannot say where the map key
     * starts, so SmallRye leaves such a variable unmatched (ModelRuntime.cudaOptions warns at start-up) unless
     * application.properties names the key or the variable quotes it ({@code SAPIENS_EXECUTION_CUDA_OPTIONS__GPU_MEM_LIMIT__}
     * for {@code cuda-options."gpu_mem_limit"}); here either form names the key as ONNX Runtime spells it, the rest of
     * the name in lower case.
     */
    public Optional<String> keyOf(String envName) {
        Optional<String> named = namedKey(envName);
        return named.isPresent() ? named : mapEntryKey(envName).map(MapEntry::key);
    }

    private Optional<String> namedKey(String envName) {
        return known.keys().stream().filter(key -> !key.endsWith(".*")).filter(readsAs(envName)).findFirst();
    }

    /** A variable under a map's prefix: the entry's key, the variable's prefix and entry, and whether it is quoted. */
    private record MapEntry(String key, String envPrefix, String entry, boolean quoted) {
    }

    private Optional<MapEntry> mapEntryKey(String envName) {
        for (String key : known.keys()) {
            if (key.endsWith(".*")) {
                String prefix = key.substring(0, key.length() - 1);
                String envPrefix = StringUtil.replaceNonAlphanumericByUnderscores(prefix).toUpperCase(Locale.ROOT);
                if (envName.startsWith(envPrefix) && envName.length() > envPrefix.length()) {
                    String rest = envName.substring(envPrefix.length());
                    boolean quoted = rest.length() > 3 && rest.startsWith("_") && rest.endsWith("__");
                    String entry = quoted ? rest.substring(1, rest.length() - 2) : rest;
                    return Optional.of(new MapEntry(prefix + entry.toLowerCase(Locale.ROOT), envPrefix, entry, quoted));
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Why a variable that names a map entry in the plain form ({@code SAPIENS_EXECUTION_CUDA_OPTIONS_GPU_MEM_LIMIT})
     * reaches no setting: SmallRye matches it only to keys application.properties names; other entries need the quoted
     * form. Empty when the variable is not such a one.
     */
    public Optional<String> ignoredMapVariable(String envName) {
        if (namedKey(envName).isPresent()) {
            return Optional.empty();
        }
        return mapEntryKey(envName).filter(entry -> !entry.quoted()).map(entry -> envName + " is ignored: SmallRye "
                + "matches a plain variable only to keys application.properties names, and it does not name "
                + entry.key() + "; quote the key: " + entry.envPrefix() + "_" + entry.entry() + "__");
    }

    /**
     * An entry of a map-valued key ({@code sapiens.execution.cuda-options.gpu_mem_limit}) as the pod sets it: from a
     * variable that names it (quoted, or plain where application.properties names the key), else application.properties'
     * value; null when unset.
     */
    String mapEntry(String key) {
        for (Map.Entry<String, String> e : environment.entrySet()) {
            if (keyOf(e.getKey()).filter(key::equals).isPresent() && ignoredMapVariable(e.getKey()).isEmpty()) {
                return e.getValue();
            }
        }
        return config.getOptionalValue(key, String.class).orElse(null);
    }

    /** Why a variable a manifest sets is not configuration of this application, or empty when it is. */
    public Optional<String> unknownVariable(String name) {
        if (keyOf(name).isPresent() || known.referencedVariables().contains(name) || LIBRARY_VARIABLES.contains(name)
                || name.startsWith("AWS_") || name.startsWith("OTEL_")
                || known.documentedKeys().stream().anyMatch(readsAs(name))) {
            return Optional.empty();
        }
        return Optional.of(name + " matches no configuration key (SapiensConfig, application.properties, keys it "
                + "documents in comments), no variable application.properties reads " + known.referencedVariables()
                + " and is not AWS_*, OTEL_* or " + LIBRARY_VARIABLES);
    }

    /**
     * Our keys: every key of {@link SapiensConfig} and of application.properties; a map's keys appear once, ending in
     * {@code .*} ({@code sapiens.execution.cuda-options.*}).
     */
    public Set<String> keys() {
        Set<String> keys = new TreeSet<>();
        for (String key : known.keys()) {
            keys.add(known.keys().stream().filter(k -> k.endsWith(".*") && key.startsWith(k.substring(0, k.length() - 1)))
                    .findFirst().orElse(key));
        }
        return keys;
    }

    /** Whether a text names one of our keys, a map entry of one, or a group of them ({@code sapiens.limits}). */
    public boolean isKey(String name) {
        return known.keys().stream().anyMatch(key -> key.equals(name) || key.startsWith(name + ".")
                || key.endsWith(".*") && name.startsWith(key.substring(0, key.length() - 1)));
    }

    /** A key's value before expressions are expanded ({@code ${HF_TOKEN:}}), from the file or the mapping's default. */
    public Optional<String> rawValue(String key) {
        return Optional.ofNullable(config.getConfigValue(key).getRawValue());
    }

    /** The keys SmallRye reads from this environment variable (EnvConfigSource's matching of names). */
    private static Predicate<String> readsAs(String variable) {
        EnvConfigSource environment = new EnvConfigSource(Map.of(variable, ""), 0);
        return key -> environment.getValue(key) != null;
    }

    /** The value a key has in the pod, as written (expressions expanded); null when a key of ours has none. */
    String get(String key) {
        String value = config.getConfigValue(key).getValue();
        if (value == null && !known.keys().contains(key)) {
            throw new AssertionError("unknown configuration key " + key);
        }
        return value;
    }

    /** A setting of Quarkus or an extension: its value in the pod (empty is unset), else the framework's default. */
    String getOrDefault(String key, String frameworkDefault) {
        return config.getOptionalValue(key, String.class).orElse(frameworkDefault);
    }

    /** A variable exactly as the pod's environment sets it (null when unset). */
    String envValue(String name) {
        return environment.get(name);
    }

    int getInt(String key) {
        return config.getValue(key, Integer.class);
    }

    Duration getDuration(String key) {
        return config.getValue(key, Duration.class);
    }

    Optional<Duration> getOptionalDuration(String key) {
        return config.getOptionalValue(key, Duration.class);
    }

    /** A MemorySize setting in bytes. */
    long getBytes(String key) {
        return config.getValue(key, MemorySize.class).asLongValue();
    }
}
