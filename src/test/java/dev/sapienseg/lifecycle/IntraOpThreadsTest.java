package dev.sapienseg.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** ONNX Runtime's threads follow the pod's CPU limit (what the JVM sees), shared between sessions, unless configured. */
class IntraOpThreadsTest {

    @Test
    void derivedFromThePodsCpusAndSharedBetweenSessions() {
        assertEquals(2, ModelRuntime.intraOpThreads(0, 2, 1));
        assertEquals(4, ModelRuntime.intraOpThreads(0, 8, 2));
        assertEquals(1, ModelRuntime.intraOpThreads(0, 2, 4), "never zero: zero would let ONNX Runtime take the node's cores");
        assertEquals(6, ModelRuntime.intraOpThreads(6, 2, 1), "a configured count wins");
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
            System.out.println(ModelRuntime.intraOpThreads(0, Runtime.getRuntime().availableProcessors(), 1));
        }
    }
}
