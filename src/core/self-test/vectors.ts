// Fixed keys and answers for the power-up self-tests, produced once with the openssl CLI
// (a second implementation): a throwaway RSA-2048 and P-256 key used for nothing else.
// The message is "abc"; signatures are SHA-256 PKCS#1 v1.5 and DER ECDSA; the OAEP
// ciphertext uses SHA-256 for OAEP and MGF1.

export const RSA_PKCS8_B64 =
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDIhL7vRsARPp6LDeKLiD5o18qFlX/WzUlNta0Qdl++Ka73+plx' +
  'yOBoyhCdva9tVtfq+0YPctbnRbI3lfpBOqCS6/H4RpMfrIWjyl7iYZKXN4fwTBEjC4HJutJKOh7y9Tkv5lRYMl4S5vLj0f5Zjmac' +
  '0FkPsenGnB7aFV6kXbtpiAuleylj0xhuk94pyaGaTJM6x+jvb0UkTSICpngWFYikZlwSGZG92cxoONd29qtD0Dy1bRvfydMSyh/z' +
  '4zuWchtWW1BceyfcO/tamPBa6uViD7jXaXyCISMr1w8qcwgis7aK8XrKulS9orfmvBpA0E2BJT+Tq97fi+R0E9TURFRpAgMBAAEC' +
  'ggEANQ1mJRGfhJCASwMv8sHn3T5mz2QoEDF9WQmd0fK3zyzhJawQiBnhQehgcBO9Q90LwJidxz2XnVYD2pAcR8DWtjil6w3lJCa1' +
  'rwm+g//T1J11In9Fs3N6ceCzfb8V7Cs0Z7d1jmY5HKAtGFi5hoFWJdw8DBqC4zDwOrwXr7469Sb47KRjq62AhJAX3pjr60eYesLG' +
  'x+JYGZMqI9gfq7p1URDy2d2iJBggKJh4t43rxPueHH+7s9nUQxFUnXerRPeRly8Nf7hzyo/0UXRUYAS9qPoyGhLKlrw5+3Ss1bw4' +
  'nt8X4iZSPA+XK8qmB6Wm2yw98CrhI2uD3sTXbazOzgNexwKBgQDw2ASYkK1rUiPvvE0T1LFOErC4eJ85QazNi2DGr9RlkYFrNEFz' +
  'EKkysEAAkXYVLgafXjN/M5PHbh+KG5gIpUwhYwhRfpcR4kaTsiTfZOYOFmRRjoAnCeBwbE45/SVH0JR8IB+DxRgKfrCoLoIzsvZQ' +
  'XyXxNj/Zg1Z0YCytOIhiHwKBgQDVIxbvUDINjGXxzGZdAOYAZyLpSr9sI+TYrV0SThOW53v6RD9VrwnuDBZ+41ZbRE9+M6dOLcO5' +
  '8N6HmcOcSdDYrvrJFb5qVmoWHi/BfwMcaPD2eCK4E/TUj/hTdGBuCEqjTeqqsai1fFvmTWQvQSiZFCL4q536W1lsDefAwfpIdwKB' +
  'gQDYn1My7h4tA0pzXIhvJ8T6FfGBWmzMEPgeQBihXJDLch5XkD62AexNPR2z5SGyVx15xj7HUFrA65nOnJcYX6Sj+vEGa7fxS/Zy' +
  '7a4giB4r2ZQNjwBRHJ8UPzX1Dm2ztDV5l2MBIAtJlT3LZ1mQqozFKW91D3hKackfD0nf25M/vQKBgDjwWtwr7HM6IrHqDR6jcs6A' +
  'vw7b7S+SlzxbdBXDze/uf2xodxMI4/o4OHpFeXiAU0w/uF5mU3eFJa3MIjnKboS0mkLGEEyQMV8fSVrD96zLTDRL+9p5Wlq+63RA' +
  'DtLWXDosQpi/RXbWdiacXjtRiOr8Oit8jYOoi8cWH+ea6qYZAoGAQb6f5qERFIbQTISW7dT9Ba9czbQdf+uioatxKNjnivRzHVL5' +
  'kJxjybOn86NvKDCjUDsvEoNCCBod5TAmgS1htd6hwMeBeCVwAQ3rNBuJCl3y3/ienw8gYS/PDtK8scpJTlsz+uATM1N6pADyT0rq' +
  '1wGJsIh0yFZYXQ9NC23OiM0=';
export const RSA_SHA256_SIG_B64 =
  'goukuFlaBBH4Uyz9waGkwW3qQ9/gdqhAoBDLe9DADkUgo3Dh8DeZyNQXRAxWM4QejNmfNJEzJHRgQoYIcb1AbZkRpCI5ShmXlqZv' +
  'lPm1L/spGBE8mwUlOW8bhX/tyr9kYcKdmDIE+vQpHbuTtYTpgI63IA5pGm3VGw93aN2BhUYqSXD2GKppzx7hpgLyenjYXoEiL5iT' +
  'wipbaxWA3b7xGRzYUvH34qslmPnZkOIFB6BwXtv9eqqEK9jCeNd3wHNUSapoe1oJzGkAthbmZ6EHAXrb+kCYY76e0rMeovc3lN9S' +
  'pJGxrFvcj2JcfiCzKg5DbV2pwNMhcyvKM4D6LTeGZA==';
export const RSA_OAEP_SHA256_CT_B64 =
  'H/S9DPFljlPr+4zzYO24CWpCudQn/UsFH5a4f1LQzeMVmOj5zhljDh96ABVXS+PMukc1vVePP79t+qZLiv2FjKX/M/CoB3GKPX7N' +
  'L+GxaE8CYRTZkhpFcNYXmbyD3QE726szRZO6z7zlTXWXGY7Mg8h4hr2KdTxXjFHvqc79nvCVxflmIACXcBanY4nNl01m3Z4tNYYK' +
  'reDEahowN3CBdxltA+clMBm/1MvxV0ixU7QFU8Vkg0lvS+ZgYX80ptdkVUIMWbVHq3tQiMJqu3penQdNVZdEkC0leDqaoC12T922' +
  'm3FIsB8i0LD56Ei3fMpoXwW9iOpePiIhLGSUgY93ig==';
export const EC_P256_PKCS8_B64 =
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSgoV8hZlEJQUOIqb1/1qOrvjyJ7hgDAvAwv64/6RGh2hRANCAASn' +
  'U1sTlBqj9m+4t7c9lJZ/sSudVK8d0KBFB1gfeujL1oMUK4Wya522zmedhCN/pNVJW67+wbpzZwfoLk5YUJHk';
export const EC_P256_SHA256_DER_SIG_B64 =
  'MEQCIH64YB84so+NQkshmRO/5kI4f2b0KaIeVZ0VmQsZiHHoAiAanGvlNphWr45rcsey84cAxhF5odGCTF2ahJyf3aiYmA==';

/** RSA-PSS over SHA-256("abc"), MGF1-SHA-256, 32-byte salt (openssl dgst -sigopt rsa_padding_mode:pss). */
export const RSA_PSS_SHA256_SIG_B64 =
  'eLbHYj1IfH5JaH7PyUrHD0r1Zve330GXQnQ5G0vCPoinw6sClFdxiytKj08JhRXq8KA7MVeM8WXk6WaYVnmyMPLlaWfNAu+vBXxa' +
  'Txrpt9LqrGXe0eJBopk3/SEI2Rbvk5GdRIxKN3ZghhIzxcLHxq0UWbLyC8Uu8jiFiwSOkhBJqxLDhoEhPBR+uPWg+pbjR+DTgMYb' +
  '6Hy0CnJHAc/0UMtXDKVsk/c3Fuzs4IeHxaNMMA+gvlICvPLzDjIjRy1uONfg/ZkLwIgMzSE5HqA35zVag/CB4DsHBOoKXHQw7COk' +
  'VZ8T4+qggFf4tFmbSxKo6L4hIOrhY1o2LqzkMH4ESA==';
