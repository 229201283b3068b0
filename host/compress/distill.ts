// Knowledge distillation (Hinton et al.): the student matches the teacher's temperature-softened class
// distribution as well as the labels. loss = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(y, s);
// the T² keeps the soft term's gradient magnitude independent of T.

import * as tf from '@tensorflow/tfjs';

export interface Distillation {
  /** Teacher logits for every training image, [count, classes]. */
  teacherLogits: Float32Array;
  alpha: number;
  temperature: number;
}

export function distillationLoss(
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  onehot: tf.Tensor2D,
  alpha: number,
  temperature: number,
): tf.Scalar {
  return tf.tidy(() => {
    const T = temperature;
    const pt = tf.softmax(tf.div(teacher, T));
    const logPs = tf.logSoftmax(tf.div(student, T));
    const kl = tf.mean(tf.sum(tf.mul(pt, tf.sub(tf.log(tf.add(pt, 1e-12)), logPs)), 1));
    const ce = tf.losses.softmaxCrossEntropy(onehot, student);
    return tf.add(tf.mul(alpha * T * T, kl), tf.mul(1 - alpha, ce)) as tf.Scalar;
  });
}
