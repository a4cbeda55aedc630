package dev.sapienseg.pipeline;

import java.nio.FloatBuffer;
import java.util.List;

import dev.sapienseg.model.ModelContract;
import dev.sapienseg.classes.ClassStatistics;
import dev.sapienseg.classes.Vocabulary;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputPlan;
import dev.sapienseg.output.RawLogits;

/**
 * Sapiens post-processing for one image of a batch: its logits slot → class map at the original size (fused
 * upsample+argmax, or sigmoid &gt; 0.3 for one-channel models) → per-class statistics; and, when a plan asks, the
 * selection's soft alpha ({@link SoftAlpha}) and a copy of the raw logits, taken before the slot is released.
 */
public final class Postprocessor {

    /**
     * The class map and its statistics, and what else a plan needs from the logits while they are at hand.
     *
     * @param alpha the selection's soft alpha, or null
     * @param logits the picture's raw logits, or null
     */
    public record ClassMap(int width, int height, byte[] ids, ClassStatistics statistics, byte[] alpha,
            RawLogits logits) {
    }

    /**
     * What a plan needs from the logits besides the class map.
     *
     * @param alphaOf the selected classes of the soft alpha ({@code alphaOf[c]}), or null for none
     * @param logits whether to keep the raw logits
     */
    public record Extras(boolean[] alphaOf, boolean logits) {

        public static final Extras NONE = new Extras(null, false);

        public static Extras of(OutputPlan plan) {
            boolean[] alphaOf = null;
            if (plan.needsAlpha()) {
                alphaOf = new boolean[256]; // any class id of a byte class map
                for (int id : plan.selection().classIds()) {
                    alphaOf[id] = true;
                }
            }
            return new Extras(alphaOf, plan.has(OutputKind.LOGITS_NPY));
        }
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
        return apply(output, slot, width, height, Extras.NONE, null);
    }

    /**
     * @param raw the picture's logits as the model gave them, when {@code extras} asks for them
     */
    public ClassMap apply(FloatBuffer output, int slot, int width, int height, Extras extras, RawLogits raw) {
        Logits logits = new Logits(output, slot * contract.outputFloatsPerImage(), contract.classes(),
                contract.outputHeight(), contract.outputWidth());
        byte[] ids = UpsampleArgmax.classMap(logits, height, width);
        byte[] alpha = extras.alphaOf() == null ? null : SoftAlpha.alpha(logits, height, width, extras.alphaOf());
        return new ClassMap(width, height, ids, ClassStatistics.of(ids, width, height, classNames), alpha, raw);
    }
}
