package dev.sapienseg.bench;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.sapienseg.fixtures.OrtRuns;
import dev.sapienseg.onnx.OnnxRewriter;

/**
 * The faster form of a real-size model against its published form: rewrites {@code published} (as provisioning does)
 * unless {@code fast} exists, runs one random picture-sized input through both with ONNX Runtime, and prints how far
 * the logits are apart and how many pixels' classes agree. With {@code rounds} &gt; 0 it then times steady-state runs
 * of every file given, one session each, the files taking turns round by round (so a noisy neighbour slows all of
 * them alike), and prints each file's median. Not a test:
 *
 * <pre>
 * mvn -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.FastFormsCheck \
 *     -Dexec.args="published.onnx fast.onnx [rounds [other.onnx...]]"
 * </pre>
 */
public final class FastFormsCheck {

    private FastFormsCheck() {
    }

    public static void main(String[] args) throws Exception {
        Path published = Path.of(args[0]);
        Path fast = Path.of(args[1]);
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        if (!Files.exists(fast)) {
            long start = System.nanoTime();
            OnnxRewriter.Result result = OnnxRewriter.rewrite(published, fast, Map.of());
            System.out.printf("rewrote %d ConvTranspose (%d weights dropped) in %.1f s%n", result.rewritten(),
                    result.weightsDropped(), (System.nanoTime() - start) / 1e9);
        }
        long[] shape = {1, 3, 1024, 768};
        float[] input = OrtRuns.random(shape, 42);
        float[] before = OrtRuns.run(published, input, shape);
        float[] after = OrtRuns.run(fast, input, shape);
        int classes = before.length / (512 * 384);
        System.out.println("faster form against published: " + OrtRuns.compare(before, after, 1, classes));
        if (rounds > 0) {
            List<Path> files = new ArrayList<>(List.of(published, fast));
            Arrays.stream(args).skip(3).map(Path::of).forEach(files::add);
            race(files, rounds, input, shape);
        }
    }

    private static void race(List<Path> files, int rounds, float[] input, long[] shape) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        List<OrtSession> sessions = new ArrayList<>();
        double[][] seconds = new double[files.size()][rounds];
        try (OnnxTensor tensor = OnnxTensor.createTensor(env, FloatBuffer.wrap(input), shape)) {
            for (Path file : files) {
                OrtSession.SessionOptions options = new OrtSession.SessionOptions();
                options.addConfigEntry("session.intra_op.allow_spinning", "0");
                sessions.add(env.createSession(file.toString(), options));
                time(sessions.get(sessions.size() - 1), tensor); // the first run sizes the arena
            }
            for (int round = 0; round < rounds; round++) {
                for (int i = 0; i < files.size(); i++) {
                    seconds[i][round] = time(sessions.get(i), tensor);
                }
            }
        } finally {
            for (OrtSession session : sessions) {
                session.close();
            }
        }
        for (int i = 0; i < files.size(); i++) {
            double[] sorted = seconds[i].clone();
            Arrays.sort(sorted);
            System.out.printf("%s: median %.2f s of %d runs %s%n", files.get(i).getFileName(), sorted[rounds / 2],
                    rounds, Arrays.toString(seconds[i]));
        }
    }

    private static double time(OrtSession session, OnnxTensor tensor) throws Exception {
        long start = System.nanoTime();
        try (OrtSession.Result result = session.run(Map.of(session.getInputNames().iterator().next(), tensor))) {
            return (System.nanoTime() - start) / 1e9;
        }
    }
}
