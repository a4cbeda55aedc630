package dev.sapienseg.lifecycle;

import java.util.List;

import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.config.SapiensConfig;
import dev.sapienseg.config.ShapeSettings;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.model.BatchSizes;
import dev.sapienseg.model.ModelLoadException;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.OutputPlanner;
import dev.sapienseg.pipeline.Deadlines;
import dev.sapienseg.pipeline.InferenceBatcher;
import dev.sapienseg.pipeline.MemoryBound;
import dev.sapienseg.pipeline.SegmentationPipeline;
import dev.sapienseg.provisioning.ModelChoice;
import dev.sapienseg.provisioning.ModelPreset;

/** The server's pipeline from its settings and the loaded sessions: batch sizes, limits, deadlines, outputs. */
final class PipelineAssembly {

    private PipelineAssembly() {
    }

    /**
     * The batch sizes runs take: {@code sapiens.batching.batch-sizes} (or every size) up to the largest batch, which
     * a preset that runs one picture at a time caps at 1.
     */
    static BatchSizes batchSizes(SapiensConfig.Batching batching, ModelChoice chosen) throws ModelLoadException {
        int configured = batching.maxBatchSize();
        int maxBatch = Math.min(configured, chosen.preset().map(ModelPreset::maxBatch).orElse(Integer.MAX_VALUE));
        try {
            return BatchSizes.of(configured, batching.batchSizes()).capped(maxBatch);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(e.getMessage());
        }
    }

    /** The pipeline over the loaded sessions, with the settings' limits; the sessions are closed if it cannot be. */
    static SegmentationPipeline build(SapiensConfig config, ModelChoice chosen, List<SegmentationModel> sessions, BatchSizes sizes)
            throws ModelLoadException {
        SegmentationModel model = sessions.get(0);
        OutputPlanner planner;
        try {
            planner = new OutputPlanner(Vocabulary.of(model.contract().family()), config.selection().classes(),
                    config.selection().invert(), config.selection().edges(), ShapeSettings.options(config.shapes()));
        } catch (IllegalArgumentException e) {
            sessions.forEach(SegmentationModel::close);
            throw new ModelLoadException(e.getMessage().startsWith("sapiens.shapes") ? e.getMessage()
                    : "sapiens.selection.classes does not fit the model served: " + e.getMessage());
        }
        SapiensConfig.Limits limits = config.limits();
        ImageDecoder decoder = new ImageDecoder(new ImageLimits(limits.maxImageBytes().asLongValue(),
                limits.maxImagePixels(), limits.decodeBudget()));
        InferenceBatcher.Settings batching = new InferenceBatcher.Settings(sizes.max(), config.batching().maxDelay(),
                sizes);
        Deadlines.Settings deadlines = new Deadlines.Settings(limits.queueTimeout(), limits.retryAfterSeconds(),
                limits.requestTimeout(), limits.maxInFlight(), batching.maxBatch(), sessions.size(),
                config.batching().maxDelay());
        SegmentationPipeline built = new SegmentationPipeline(decoder, sessions, new SegmentationPipeline.Settings(
                chosen.normalizationFor(model.contract().family()), batching, deadlines,
                new MemoryBound(limits.memoryBudget().asLongValue()), planner));
        limits.maxRunTime().ifPresent(built.watchdog()::stallAfter);
        return built;
    }
}
