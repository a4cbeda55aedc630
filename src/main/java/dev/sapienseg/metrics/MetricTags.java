package dev.sapienseg.metrics;

import java.util.Locale;

/** The values of the meters' tags, each from one enum, so that a dashboard's query and the code cannot drift apart. */
final class MetricTags {

    private MetricTags() {
    }

    static String of(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
