package dev.sapienseg.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import dev.sapienseg.model.ExecutionProvider;

/**
 * ONNX Runtime's threads follow the pod's CPU limit (what the JVM sees), shared between sessions, unless configured; a
 * GPU session takes two.
 */
class IntraOpThreadsTest {

    @Test
    void derivedFromThePodsCpusAndSharedBetweenSessions() {
        assertEquals(2, ModelRuntime.intraOpThreads(0, 2, 1, ExecutionProvider.CPU));
        assertEquals(4, ModelRuntime.intraOpThreads(0, 8, 2, ExecutionProvider.CPU));
        assertEquals(1, ModelRuntime.intraOpThreads(0, 2, 4, ExecutionProvider.CPU),
                "never zero: zero would let ONNX Runtime take the node's cores");
        assertEquals(6, ModelRuntime.intraOpThreads(6, 2, 1, ExecutionProvider.CPU), "a configured count wins");
    }

    @Test
    void aGpuSessionTakesTwoThreadsLeavingTheCoresToThePicturesCpuWork() {
        assertEquals(2, ModelRuntime.intraOpThreads(0, 8, 1, ExecutionProvider.CUDA));
        assertEquals(2, ModelRuntime.intraOpThreads(0, 96, 2, ExecutionProvider.TENSORRT));
        assertEquals(1, ModelRuntime.intraOpThreads(0, 2, 2, ExecutionProvider.CUDA), "no more than the pod's share");
        assertEquals(8, ModelRuntime.intraOpThreads(8, 8, 1, ExecutionProvider.CUDA), "a configured count wins");
    }

    @Test
    void theJvmSeesTheContainersLimitNotTheNodesCores() throws Exception {
        // -XX:ActiveProcessorCount stands in for a cgroup CPU quota, which the JVM reads the same way.
        Process java = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "-XX:ActiveProcessorCount=1", "-cp", System.getProperty("java.class.path"), Probe.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(java.getInputStream().readAllBytes()).trim();
        assertEquals(0, java.waitFor());
        assertEquals("1", out.lines().reduce((a, b) -> b).orElse(""));
    }

    /** Prints the intra-op threads a one-session pod gets in this JVM. */
    public static final class Probe {
        public static void main(String[] args) {
            System.out.println(ModelRuntime.intraOpThreads(0, Runtime.getRuntime().availableProcessors(), 1, ExecutionProvider.CPU));
        }
    }
}
