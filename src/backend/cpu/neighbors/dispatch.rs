//! Runtime selection of the instruction set a kernel is compiled for.

/// Define `$name`, which runs `$body::<T, FMA>` compiled for AVX2+FMA when
/// the CPU has them and for the baseline target otherwise. `$body` and
/// everything it calls in the hot loop must be `#[inline(always)]` so that
/// it is compiled with the caller's features.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident<T>($($arg:ident: $ty:ty),* $(,)?) => $body:ident) => {
        $(#[$meta])*
        $vis fn $name<T: Scalar>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2<T: Scalar>($($arg: $ty),*) {
                    $body::<T, true>($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has the features `avx2` is compiled for.
                    return unsafe { avx2::<T>($($arg),*) };
                }
            }
            $body::<T, false>($($arg),*)
        }
    };
}

pub(super) use multiversion;
