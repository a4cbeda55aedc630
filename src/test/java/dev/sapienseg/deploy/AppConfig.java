package dev.sapienseg.deploy;

import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.sapienseg.config.SapiensConfig;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;

/**
 * The application's configuration as a pod would see it: the defaults of {@link SapiensConfig} and of
 * application.properties (with {@code ${ENV:default}} resolved), then the environment variables a manifest sets,
 * matched to keys the way Quarkus does (upper case, every non-alphanumeric character an underscore).
 */
final class AppConfig {

    /** Variables read by libraries, not by Quarkus configuration. */
    static final Set<String> LIBRARY_VARIABLES = Set.of("OPENBLAS_NUM_THREADS",
            // deploy/run-java.sh: the Java heap's share of the container's memory.
            "JAVA_MAX_RAM_PERCENTAGE");

    private static final Pattern EXPRESSION = Pattern.compile("\\$\\{([A-Za-z0-9_.\\-]+)(?::([^}]*))?}");

    /** Every known key with its default value (null: no default). */
    private final Map<String, String> defaults;
    /** Map-valued keys ({@code sapiens.execution.cuda-options.*}): their prefixes. */
    private final Set<String> mapPrefixes;
    private final Map<String, String> environment;
    /** Keys application.properties documents in comments ({@code #quarkus.s3.endpoint-override=…}). */
    private final Set<String> documentedKeys;

    private AppConfig(Map<String, String> defaults, Set<String> mapPrefixes, Map<String, String> environment,
            Set<String> documentedKeys) {
        this.defaults = defaults;
        this.mapPrefixes = mapPrefixes;
        this.environment = environment;
        this.documentedKeys = documentedKeys;
    }

    static AppConfig load(Path applicationProperties) {
        Map<String, String> defaults = new LinkedHashMap<>();
        Set<String> mapPrefixes = new TreeSet<>();
        String prefix = SapiensConfig.class.getAnnotation(ConfigMapping.class).prefix();
        collect(SapiensConfig.class, prefix, defaults, mapPrefixes);
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(applicationProperties)) {
            p.load(r);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        for (String key : p.stringPropertyNames()) {
            defaults.put(key, p.getProperty(key));
        }
        Set<String> documented = new TreeSet<>();
        try {
            Pattern commented = Pattern.compile("^#\\s*([a-z][A-Za-z0-9_.\"-]+)\\s*=.*");
            for (String line : Files.readAllLines(applicationProperties)) {
                Matcher m = commented.matcher(line);
                if (m.matches()) {
                    documented.add(m.group(1));
                }
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return new AppConfig(defaults, mapPrefixes, Map.of(), documented);
    }

    /** The same configuration with a pod's environment on top. */
    AppConfig withEnvironment(Map<String, String> env) {
        return new AppConfig(defaults, mapPrefixes, Map.copyOf(env), documentedKeys);
    }

    /** Keys of {@link SapiensConfig}, derived from its methods as SmallRye Config does (kebab case). */
    private static void collect(Class<?> type, String prefix, Map<String, String> out, Set<String> mapPrefixes) {
        for (Method m : type.getDeclaredMethods()) {
            if (m.getParameterCount() != 0 || m.isDefault() || java.lang.reflect.Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            WithName withName = m.getAnnotation(WithName.class);
            String key = prefix + "." + (withName != null ? withName.value() : kebab(m.getName()));
            Class<?> returned = m.getReturnType();
            if (returned.isInterface() && returned.getEnclosingClass() == SapiensConfig.class) {
                collect(returned, key, out, mapPrefixes);
            } else if (Map.class.isAssignableFrom(returned)) {
                mapPrefixes.add(key + ".");
            } else {
                WithDefault d = m.getAnnotation(WithDefault.class);
                out.put(key, d != null ? d.value() : null);
                if (returned == Optional.class) {
                    Type t = ((ParameterizedType) m.getGenericReturnType()).getActualTypeArguments()[0];
                    if (t instanceof Class<?> c && c.isInterface() && c.getEnclosingClass() == SapiensConfig.class) {
                        throw new AssertionError("optional groups are not modelled: " + key);
                    }
                }
            }
        }
    }

    static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    /** Quarkus' environment variable name of a key. */
    static String envName(String key) {
        return key.replaceAll("[^A-Za-z0-9]", "_").toUpperCase(Locale.ROOT);
    }

    /** The key an environment variable sets, if it names one of our keys. */
    Optional<String> keyOf(String envName) {
        for (String key : defaults.keySet()) {
            if (envName(key).equals(envName)) {
                return Optional.of(key);
            }
        }
        for (String prefix : mapPrefixes) {
            if (envName.startsWith(envName(prefix)) && envName.length() > envName(prefix).length()) {
                return Optional.of(prefix + envName.substring(envName(prefix).length()).toLowerCase(Locale.ROOT));
            }
        }
        return Optional.empty();
    }

    /** Why a variable a manifest sets is not configuration of this application, or empty when it is. */
    Optional<String> unknownVariable(String name) {
        if (keyOf(name).isPresent() || referencedVariables().contains(name) || LIBRARY_VARIABLES.contains(name)
                || name.startsWith("AWS_") || name.startsWith("OTEL_")
                || documentedKeys.stream().anyMatch(key -> envName(key).equals(name))) {
            return Optional.empty();
        }
        return Optional.of(name + " matches no configuration key (SapiensConfig, application.properties, keys it "
                + "documents in comments), no variable application.properties reads " + referencedVariables()
                + " and is not AWS_*, OTEL_* or " + LIBRARY_VARIABLES);
    }

    /** Variables that application.properties reads by name, such as {@code ${HF_TOKEN:}}. */
    Set<String> referencedVariables() {
        Set<String> names = new TreeSet<>();
        for (String value : defaults.values()) {
            if (value == null) {
                continue;
            }
            Matcher m = EXPRESSION.matcher(value);
            while (m.find()) {
                if (m.group(1).equals(m.group(1).toUpperCase(Locale.ROOT))) {
                    names.add(m.group(1));
                }
            }
        }
        return names;
    }

    /** The value a key has in the pod: environment, else application.properties / SapiensConfig default. */
    String get(String key) {
        String fromEnv = environment.get(envName(key));
        if (fromEnv != null) {
            return fromEnv;
        }
        if (!defaults.containsKey(key)) {
            throw new AssertionError("unknown configuration key " + key);
        }
        String raw = defaults.get(key);
        return raw == null ? null : resolve(raw);
    }

    String getOrDefault(String key, String frameworkDefault) {
        String fromEnv = environment.get(envName(key));
        if (fromEnv != null) {
            return fromEnv;
        }
        String raw = defaults.get(key);
        return raw == null ? frameworkDefault : resolve(raw);
    }

    private String resolve(String raw) {
        Matcher m = EXPRESSION.matcher(raw);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(1);
            String value = environment.containsKey(name) ? environment.get(name)
                    : defaults.containsKey(name) ? resolve(defaults.get(name)) : m.group(2);
            if (value == null) {
                throw new AssertionError("unresolvable expression " + m.group() + " in " + raw);
            }
            m.appendReplacement(out, Matcher.quoteReplacement(value));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** A variable exactly as the pod's environment sets it (null when unset). */
    String envValue(String name) {
        return environment.get(name);
    }

    int getInt(String key) {
        return Integer.parseInt(get(key).trim());
    }

    Duration getDuration(String key) {
        return duration(get(key));
    }

    /** Quarkus durations: ISO-8601 ({@code PT30S}), a number of seconds, or a number with ms, s, m, h or d. */
    static Duration duration(String value) {
        String v = value.trim();
        if (v.toUpperCase(Locale.ROOT).startsWith("P")) {
            return Duration.parse(v);
        }
        Matcher m = Pattern.compile("(\\d+)(ms|s|m|h|d)?", Pattern.CASE_INSENSITIVE).matcher(v);
        if (!m.matches()) {
            throw new AssertionError("not a duration: " + value);
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2).toLowerCase(Locale.ROOT);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }

    /** Quarkus MemorySize: a number with an optional K, M, G or T suffix (powers of 1024). */
    static long memorySize(String value) {
        Matcher m = Pattern.compile("(\\d+)([KMGT])?B?", Pattern.CASE_INSENSITIVE).matcher(value.trim());
        if (!m.matches()) {
            throw new AssertionError("not a memory size: " + value);
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "" : m.group(2).toUpperCase(Locale.ROOT);
        int shift = switch (unit) {
            case "K" -> 10;
            case "M" -> 20;
            case "G" -> 30;
            case "T" -> 40;
            default -> 0;
        };
        return n << shift;
    }

    /** Kubernetes quantities as found in body-size style annotations ({@code 70M}, {@code 100Mi}, {@code 70m}). */
    static long byteQuantity(String value) {
        Matcher m = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([kKmMgGtT]i?)?[bB]?").matcher(value.trim());
        if (!m.matches()) {
            throw new AssertionError("not a byte quantity: " + value);
        }
        BigDecimal n = new BigDecimal(m.group(1));
        String unit = m.group(2) == null ? "" : m.group(2).toUpperCase(Locale.ROOT);
        Map<String, Long> units = new HashMap<>(Map.of("", 1L, "K", 1_000L, "M", 1_000_000L, "G", 1_000_000_000L,
                "KI", 1L << 10, "MI", 1L << 20, "GI", 1L << 30, "T", 1_000_000_000_000L, "TI", 1L << 40));
        return n.multiply(BigDecimal.valueOf(units.get(unit))).longValue();
    }
}
