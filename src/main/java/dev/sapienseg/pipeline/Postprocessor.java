package dev.sapienseg.pipeline;

import java.nio.FloatBuffer;
import java.util.List;

import dev.sapienseg.model.ModelContract;
import dev.sapienseg.classes.ClassStatistics;
import dev.sapienseg.classes.Vocabulary;

/**
 * Sapiens post-processing for one image of a batch: its logits slot → class map at the original size (fused
 * upsample+argmax, or sigmoid &gt; 0.3 for one-channel models) → per-class statistics.
 */
public final class Postprocessor {

    /** The class map and its statistics. */
    public record ClassMap(int width, int height, byte[] ids, ClassStatistics statistics) {
    }

    private final ModelContract contract;
    private final Vocabulary vocabulary;
    private final List<String> classNames;

    public Postprocessor(ModelContract contract) {
        this.contract = contract;
        this.vocabulary = Vocabulary.of(contract.family());
        this.classNames = vocabulary.names();
    }

    public List<String> classNames() {
        return classNames;
    }

    /** The classes of the served model's family: names, palette, overlay blend. */
    public Vocabulary vocabulary() {
        return vocabulary;
    }

    /** @param slot the image's index in the batch whose logits fill {@code output} */
    public ClassMap apply(FloatBuffer output, int slot, int width, int height) {
        Logits logits = new Logits(output, slot * contract.outputFloatsPerImage(), contract.classes(),
                contract.outputHeight(), contract.outputWidth());
        byte[] ids = UpsampleArgmax.classMap(logits, height, width);
        return new ClassMap(width, height, ids, ClassStatistics.of(ids, width, height, classNames));
    }
}
