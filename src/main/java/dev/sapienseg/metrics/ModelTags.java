package dev.sapienseg.metrics;

import java.util.ArrayList;
import java.util.List;

import jakarta.inject.Singleton;
import jakarta.enterprise.inject.Produces;

import dev.sapienseg.lifecycle.SegmentationService;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.config.MeterFilter;

/**
 * Every {@code sapiens.*} meter carries the model's name ({@code model}, {@link SegmentationService#metricsName()}) and, when the configured location
 * pins one, its revision ({@code revision}): dashboards and alerts that span pods serving different models (or a
 * rollout from one to the next) can tell the series apart. Both values are fixed when the process starts, so a
 * series never changes its labels; {@code sapiens_model_info} adds the loaded file's SHA-256.
 */
public class ModelTags {

    @Produces
    @Singleton
    MeterFilter modelTags(SegmentationService service) {
        String model = service.metricsName();
        String revision = service.pinnedRevision().orElse(null);
        return new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                if (!id.getName().startsWith("sapiens.")) {
                    return id;
                }
                List<Tag> extra = new ArrayList<>(2);
                if (id.getTag("model") == null) {
                    extra.add(Tag.of("model", model));
                }
                if (revision != null && id.getTag("revision") == null) {
                    extra.add(Tag.of("revision", revision));
                }
                return extra.isEmpty() ? id : id.withTags(extra);
            }
        };
    }
}
