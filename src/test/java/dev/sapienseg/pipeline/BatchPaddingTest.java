package dev.sapienseg.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.model.BatchSizes;
import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;

/**
 * With batch sizes 1, 2, 4 a batch of 3 pictures runs as 4 (the fourth slot is padding) and each picture gets the
 * logits it gets alone: padding changes no real result.
 */
class BatchPaddingTest {

    @Test
    void threePicturesRunAsFourAndEachGetsItsOwnLogits() throws Exception {
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(FixtureModels.TINY_VIT))) {
            ModelContract contract = model.contract();
            int in = contract.inputFloatsPerImage();
            int out = contract.outputFloatsPerImage();
            List<float[]> inputs = new ArrayList<>();
            Random random = new Random(11);
            for (int p = 0; p < 3; p++) {
                float[] picture = new float[in];
                for (int i = 0; i < in; i++) {
                    picture[i] = (float) random.nextGaussian();
                }
                inputs.add(picture);
            }
            BatchSizes sizes = BatchSizes.of(4, Optional.of(List.of(1, 2)));
            List<InferenceBatcher.Slot> slots = new ArrayList<>();
            try (InferenceBatcher batcher = new InferenceBatcher(List.of(model),
                    new InferenceBatcher.Settings(4, Duration.ofSeconds(30), sizes))) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                for (float[] picture : inputs) {
                    InferenceBatcher.Slot slot = batcher.claim(deadline);
                    slot.buffers().input().put(slot.index() * in, picture);
                    batcher.ready(slot);
                    slots.add(slot);
                }
                batcher.flush();
                for (int p = 0; p < 3; p++) {
                    InferenceBatcher.Slot slot = slots.get(p).result().get(60, TimeUnit.SECONDS);
                    assertEquals(3, slot.batchSize(), "three pictures shared the run");
                    assertEquals(4, slot.ranAs(), "padded up to the next batch size");
                    float[] batched = new float[out];
                    slot.buffers().output().get(slot.index() * out, batched);
                    float[] alone = alone(model, inputs.get(p));
                    for (int i = 0; i < out; i++) {
                        assertTrue(Math.abs(alone[i] - batched[i]) <= 1e-4f * (1 + Math.abs(alone[i])),
                                "picture " + p + ", logit " + i + ": " + alone[i] + " alone, " + batched[i] + " padded");
                    }
                    batcher.release(slot);
                }
            }
        }
    }

    @Test
    void aFixedBatchModelRunsItsBatchWhateverTheSizesSay(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path fixed = dev.sapienseg.fixtures.ModelFiles.write(dir, "fixed3.onnx",
                FixtureModels.palette(dev.sapienseg.fixtures.OnnxGraphBuilder.Dim.of(3), 28, true, true, "fixed3"));
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(fixed));
                InferenceBatcher batcher = new InferenceBatcher(List.of(model),
                        new InferenceBatcher.Settings(1, Duration.ofSeconds(30)))) {
            assertEquals(3, batcher.capacity(), "the model's batch, not max-batch-size 1");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            InferenceBatcher.Slot first = batcher.claim(deadline);
            InferenceBatcher.Slot second = batcher.claim(deadline);
            batcher.ready(first);
            batcher.ready(second);
            batcher.flush();
            for (InferenceBatcher.Slot slot : List.of(first, second)) {
                slot.result().get(60, TimeUnit.SECONDS);
                assertEquals(2, slot.batchSize());
                assertEquals(3, slot.ranAs(), "padded to the fixed batch");
                batcher.release(slot);
            }
        }
    }

    private static float[] alone(SegmentationModel model, float[] picture) throws Exception {
        FloatBuffer input = SegmentationModel.directFloats(picture.length);
        input.put(0, picture);
        FloatBuffer output = SegmentationModel.directFloats(model.contract().outputFloatsPerImage());
        model.run(input, output, 1);
        float[] logits = new float[output.capacity()];
        output.get(0, logits);
        return logits;
    }
}
